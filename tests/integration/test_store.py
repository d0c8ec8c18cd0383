"""The store's guarantees on the real PostgreSQL: redelivery changes nothing, constraints hold.

A database of its own, with no worker: nothing but the test touches it.
"""

import asyncio
import dataclasses
import json
import uuid
from urllib.parse import urlsplit
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest
import pytest_asyncio

from models.dispatch.rules import DispatchRules
from models.dispatch.intake import register_report
from models.dispatch.planner import plan_region
from models.dispatch.region_state import RegionRows, RegionStateCache
from models.dispatch.travel import StraightLineTravel
from streams.handlers.intake import commit_time
from streams.services import board as board_service, watchdog as watchdog_service
from streams.services.dispatch import Dispatcher, keep_committed, register_reports
from streams.services.unit_of_work import unit_of_work
from streams.store import dispatch_store, roster_store, watchdog_store
from streams.store.dispatch_store import pending_claims, recent_scenes
from streams.store.migrations import apply_migrations
from streams.store.outbox import mark_published
from tests.conftest import valid_report
from tests.waiting import wait_for

pytestmark = pytest.mark.integration
RULES = DispatchRules()


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    from models.dispatch.roster import Roster
    from streams.commands.bootstrap import load_roster
    from streams.embedded_stack import start_stack
    from streams.settings import Settings
    from tests.conftest import AREAS, roster_for_tests

    running = start_stack(Settings(state_dir=tmp_path_factory.mktemp("store-stack")))
    asyncio.run(load_roster(running.database_url, Roster.model_validate(roster_for_tests(AREAS))))
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


def _planner(calls: list):
    def planner(pending, surveyors, vehicles, now, rules, demand=()):
        calls.append(sorted(p.claim.report_id for p in pending))
        return plan_region(pending, surveyors, vehicles, rules, StraightLineTravel(), now)

    return planner


def _past_every_limit(pending, surveyors, vehicles, now, rules, demand=()):
    """The real planner, with every claim's limit already passed: no one can meet it (late sends, promises)."""
    due = [dataclasses.replace(p, claim=p.claim.model_copy(update={"deadline_at": now})) for p in pending]
    return plan_region(due, surveyors, vehicles, rules, StraightLineTravel(), now)


@dataclasses.dataclass
class Applied:
    """A batch through intake's handler as the agent runs it: what it decided, what it publishes, and the
    commit time it reports."""

    new: list
    duplicates: list
    plans: list
    outputs: list
    commit_seconds: float | None


async def register_and_dispatch(db, batch, now, day_start, rules, planner, cache=None) -> Applied:
    async with unit_of_work(db, "intake") as uow:
        done = await register_reports(uow, batch, now, day_start, Dispatcher(rules, planner, cache))
    keep_committed(cache, done.planned)
    return Applied(done.new, done.duplicates, done.plans, uow.outputs, commit_time(done, uow))


async def _intake(db, batch, calls=None):
    now = datetime.now(timezone.utc)
    return await register_and_dispatch(db, batch, now, now.replace(hour=0), RULES, _planner([] if calls is None
                                                                                           else calls))


async def test_a_redelivered_report_republishes_the_same_records_until_they_are_published(db):
    accepted = await _accepted(db)
    calls = []
    first = await _intake(db, [accepted], calls)
    again = await _intake(db, [accepted], calls)
    assert [a.report.report_id for a in first.new] == [accepted.report.report_id] and again.new == []
    assert calls == [[accepted.report.report_id]]  # decided once
    assert again.outputs == first.outputs and [o.topic for o in first.outputs] == ["dispatch.assignments"]
    await mark_published(db, first.outputs)
    assert (await _intake(db, [accepted])).outputs == []
    assert await db.fetchval("SELECT count(*) FROM claims WHERE report_id = $1", accepted.report.report_id) == 1
    assert await db.fetchval("SELECT count(*) FROM survey_tasks WHERE report_id = $1", accepted.report.report_id) == 1


async def test_a_batch_stores_and_decides_each_report_once_and_a_redelivered_batch_changes_nothing(db):
    a, b = await _accepted(db, "store"), await _accepted(db, "store")
    resent = dataclasses.replace(b, report=b.report.model_copy(update={"event_id": uuid.uuid4()}))
    # a twice (a redelivery inside the batch), b under a second event id (the hotline sent it again)
    done = await _intake(db, [a, b, a, resent])
    assert [x.report.report_id for x in done.new] == [a.report.report_id, b.report.report_id]
    assert [x.report.event_id for x in done.duplicates] == [resent.report.event_id]
    assert sorted(d.report_id for p in done.plans for d in p.assigned) == sorted([a.report.report_id,
                                                                                  b.report.report_id])
    again = await _intake(db, [b, a, resent])  # the same batch again, split differently
    assert again.new == [] and again.plans == []
    assert sorted(o.event_id for o in again.outputs) == sorted(o.event_id for o in done.outputs)
    await mark_published(db, done.outputs)
    assert (await _intake(db, [a, b])).outputs == []
    ids = [a.report.report_id, b.report.report_id]
    assert await db.fetchval("SELECT count(*) FROM claims WHERE report_id = ANY($1)", ids) == 2
    assert await db.fetchval("SELECT count(*) FROM survey_tasks WHERE report_id = ANY($1)", ids) == 2


async def test_claims_just_stored_are_planned_exactly_as_the_store_gives_them_back(db):
    # Intake plans the claims it has just stored from memory; they must be what reading them back gives
    # (times in UTC, pending since the batch's now, first attempt), or decisions and records would differ.
    shanghai = timezone(timedelta(hours=8))
    raw = valid_report("store")
    raw["occurred_at"] = datetime.now(shanghai).isoformat()
    raw["injuries"] = {"count": 1, "severity": "serious"}  # priority 1, kept with the claim
    accepted = register_report(json.dumps(raw).encode(), await roster_store.regions(db), RULES,
                               datetime.now(timezone.utc))
    assert accepted.claim.reported_at.utcoffset() == timedelta(hours=8)
    calls = []

    def planner(pending, surveyors, vehicles, now, rules, demand=()):
        calls.append(list(pending))
        return plan_region(pending, surveyors, vehicles, rules, StraightLineTravel(), now)

    now = datetime.now(timezone.utc)
    await register_and_dispatch(db, [accepted], now, now.replace(hour=0), RULES, planner)
    async with db.acquire() as conn:
        # Read back as the plan would have, had it read it: undecided again (escalations gone, pending, no
        # attempt made: it may have been sent someone, free or turned round) in a transaction rolled back.
        undo = conn.transaction()
        await undo.start()
        await conn.execute("DELETE FROM escalations WHERE report_id = $1", accepted.report.report_id)
        await conn.execute("UPDATE claims SET dispatch_state = 'pending', attempts = 0 WHERE report_id = $1",
                           accepted.report.report_id)
        stored = await pending_claims(conn, [accepted.report.report_id], [])
        await undo.rollback()
    # (A later call plans a claim given up by a surveyor turned round to this one, if the plan turned one.)
    planned = calls[0]
    assert len(planned) == 1 and len(stored) == 1
    assert planned[0] == stored[0]
    assert planned[0].claim.model_dump_json() == stored[0].claim.model_dump_json()
    assert stored[0].claim.priority == 1
    async with db.acquire() as conn:  # and its scene is among the region's latest, where claims come from
        [latest, *_] = (await recent_scenes(conn, ["store"], 5))["store"]
    assert (latest.lat, latest.lon) == (raw["location"]["lat"], raw["location"]["lon"])


async def test_a_batch_of_two_regions_plans_each_region_once(db):
    claims = [(await _accepted(db, area)) for area in ("simulate", "survey", "simulate")]
    calls = []
    done = await _intake(db, claims, calls)
    assert len(calls) == 2  # one plan per region
    assert sorted(r for call in calls for r in call) == sorted(c.report.report_id for c in claims)
    assert sorted(d.report_id for p in done.plans for d in p.assigned) == sorted(c.report.report_id for c in claims)


async def test_a_claim_left_waiting_is_planned_again_with_the_next_claim_of_its_region(db):
    """A region where nothing else waits is planned from the claims in hand (the waiting ones are not read:
    a round trip of most batches); one where a claim was left waiting plans it with the next claim."""
    from models.dispatch.planner import RegionPlan

    now = datetime.now(timezone.utc)
    waiting = await _accepted(db, "probe")  # a region no other test here uses: its 3 surveyors are free
    await register_and_dispatch(db, [waiting], now, now.replace(hour=0), RULES,
                                lambda pending, surveyors, vehicles, now, rules, demand: RegionPlan())  # left pending
    calls = []
    later = await _accepted(db, "probe")
    done = await _intake(db, [later], calls)
    assert {waiting.report.report_id, later.report.report_id} <= set(calls[0])
    assert {a.report_id for p in done.plans for a in p.assigned} >= {waiting.report.report_id, later.report.report_id}


async def test_a_region_read_under_its_lock_sees_what_the_locks_last_holder_committed(db):
    """lock_regions (migration 008) waits for the region's lock and reads the region after it: a claim left
    waiting by the transaction that held the lock is seen (read with a snapshot from before the wait, it
    would not be, and that claim would not be planned)."""
    from streams.store.dispatch_store import store_claims

    claim = await _accepted(db, "bad")  # a region no other test here uses
    async with db.acquire() as holder, db.acquire() as other:
        lock = holder.transaction()
        await lock.start()
        await holder.execute("SELECT pg_advisory_xact_lock(hashtext('region:bad'))")
        await store_claims(holder, [claim], datetime.now(timezone.utc))  # pending: waits there
        async with other.transaction():
            reading = asyncio.ensure_future(other.fetch("SELECT * FROM lock_regions($1::text[], '{}')", ["bad"]))
            # The read's statement has started and waits for the lock (its snapshot, if it took one for the
            # whole call, is from before the commit below).
            waiting = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND NOT granted)"
            await wait_for(lambda: db.fetchval(waiting, other.get_server_pid()), timeout=10,
                           what="the read waiting for the region's lock", every=0.01)
            assert not reading.done()
            await lock.commit()
            [row] = await asyncio.wait_for(reading, 10)
    assert row["region_id"] == "bad" and row["waiting"] is True and row["state_version"] is not None


async def test_the_database_refuses_a_second_live_task_for_one_surveyor(db):
    a, b = await _accepted(db, "kcat"), await _accepted(db, "kcat")
    from streams.store.dispatch_store import store_claims

    async with db.acquire() as conn:
        await store_claims(conn, [a, b], datetime.now(timezone.utc))
    insert = ("INSERT INTO survey_tasks (task_id, report_id, attempt, surveyor_id, vehicle_id, region_id, zone,"
              " status, assigned_at, deadline_at, estimated_arrival_at, meets_deadline, ack_due_at, contact_due_at)"
              " VALUES ($1, $2, 1, 'kcat-s0', $3, 'kcat', 'urban', 'assigned', now(), now() + interval '1 hour',"
              " now(), true, now() + interval '1 hour', now() + interval '1 hour')")
    await db.execute(insert, uuid.uuid4(), a.report.report_id, "kcat-v0")
    with pytest.raises(asyncpg.UniqueViolationError, match="one_live_task_per_surveyor"):
        await db.execute(insert, uuid.uuid4(), b.report.report_id, "kcat-v1")
    # written by hand, behind dispatch's back: gone again, so that no later re-plan finds them half-made
    ids = [a.report.report_id, b.report.report_id]
    await db.execute("DELETE FROM survey_tasks WHERE report_id = ANY($1::text[])", ids)
    await db.execute("DELETE FROM claims WHERE report_id = ANY($1::text[])", ids)


async def test_migrations_apply_once(store_url):
    assert await apply_migrations(store_url) == []


async def test_an_open_callback_task_becomes_overdue_then_expires(db):
    from datetime import timedelta

    from streams.services.callbacks import mark_overdue_and_expire

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


async def test_region_state_kept_in_memory_stays_what_the_database_holds(db):
    """A worker's region cache (RegionStateCache) against a fresh read after every kind of write: its own
    assignments are mirrored, other transactions' changes make it read again, a rollback leaves no trace."""
    cache = RegionStateCache()
    regions = ["escalate", "twice"]
    now = datetime.now(timezone.utc)
    day_start = now.replace(hour=0)

    async def intake(batch, planner=None):
        return await register_and_dispatch(db, batch, now, day_start, RULES, planner or _planner([]), cache)

    async def versions():
        return {r["region_id"]: r["state_version"] for r in await db.fetch(
            "SELECT region_id, state_version FROM regions WHERE region_id = ANY($1::text[])", regions)}

    async def kept_is_current():
        current = await versions()
        async with db.acquire() as conn:
            read = await roster_store.region_rows(conn, regions, day_start)
        for rid in regions:
            kept = cache.get(rid, current[rid], day_start)
            assert kept is not None, f"{rid}: the cache should hold version {current[rid]}"
            # now, and later (expected arrivals passed: states built earlier must not be reused), and now again
            for t in (now, now + timedelta(minutes=1), now + timedelta(hours=2), now):
                fresh = RegionRows(None, day_start, read[rid].surveyors, read[rid].vehicles)
                for mine, theirs in zip(kept.states(t, RULES), fresh.states(t, RULES)):
                    assert sorted(map(repr, mine)) == sorted(map(repr, theirs))  # in any order: plans sort them

    first = await intake([await _accepted(db, "escalate"), await _accepted(db, "twice")])
    assert len([a for p in first.plans for a in p.assigned]) == 2
    await kept_is_current()  # own assignments mirrored: no reread needed

    before = cache.misses
    second = await intake([await _accepted(db, "escalate")])
    assert cache.misses == before  # served from memory
    assert [a.surveyor_id for p in second.plans for a in p.assigned][0] not in \
        [a.surveyor_id for p in first.plans for a in p.assigned]  # the first one is busy in memory too
    await kept_is_current()

    task = first.plans[0].assigned[0].task_id
    unchanged = await versions()
    await db.execute("UPDATE survey_tasks SET status = 'accepted', accepted_at = now() WHERE task_id = $1", task)
    await db.execute("UPDATE survey_tasks SET contacted_at = now() WHERE task_id = $1", task)
    assert await versions() == unchanged  # nothing region state reads changed
    await kept_is_current()

    for write in ("UPDATE survey_tasks SET status = 'completed' WHERE task_id = $1",
                  "UPDATE surveyors SET lat = lat + 0.001 WHERE surveyor_id = (SELECT surveyor_id FROM survey_tasks"
                  " WHERE task_id = $1)"):
        old = await versions()
        await db.execute(write, task)
        new = await versions()
        changed = [rid for rid in regions if new[rid] != old[rid]]
        assert changed and all(cache.get(rid, new[rid], day_start) is None for rid in changed)
        misses = cache.misses
        await intake([await _accepted(db, rid) for rid in changed])
        assert cache.misses > misses  # read again
        await kept_is_current()

    def failing(pending, surveyors, vehicles, now, rules, demand):
        raise RuntimeError("planner bug")

    kept = await versions()
    with pytest.raises(RuntimeError):
        await intake([await _accepted(db, "escalate")], failing)
    assert await versions() == kept
    await kept_is_current()


async def test_the_board_counts_from_kept_region_state_what_the_database_holds(db):
    """The board's gauges read regions' state through the worker's cache: the same figures as a fresh
    read, from memory while nothing changed, and read again when another transaction changed a region."""
    cache = RegionStateCache()
    now = datetime.now(timezone.utc)
    day_start = now.replace(hour=0)

    async def board():
        kept = await board_service.dispatch_gauges(db, now, day_start, RULES, cache)
        assert kept == await board_service.dispatch_gauges(db, now, day_start, RULES)  # as read afresh
        return kept["available"]

    done = await register_and_dispatch(db, [await _accepted(db, "twice")], now, day_start, RULES, _planner([]))
    task = [a for p in done.plans for a in p.assigned][0]
    before = await board()
    hits = cache.hits
    assert await board() == before
    assert cache.hits - hits == len(before)  # every region from memory
    await db.execute("UPDATE survey_tasks SET status = 'completed' WHERE task_id = $1", task.task_id)
    after = await board()
    assert after[task.region_id] == before[task.region_id] + 1  # the surveyor freed elsewhere is seen


async def test_a_surveyor_on_a_task_sets_out_next_from_its_scene_with_the_vehicle(db):
    """A busy surveyor is planned (for a claim that could wait for them) from where the task ends, the
    scene, not from where they were when sent; the vehicle they took is there with them."""
    now = datetime.now(timezone.utc)
    day_start = now.replace(hour=0)
    accepted = await _accepted(db, "twice")
    done = await register_and_dispatch(db, [accepted], now, day_start, RULES, _planner([]))
    task = [a for p in done.plans for a in p.assigned][0]
    async with db.acquire() as conn:
        rows = (await roster_store.region_rows(conn, [task.region_id], day_start))[task.region_id]
    scene = (accepted.claim.lat, accepted.claim.lon)
    record = next(r for r in rows.surveyors if r.surveyor.surveyor_id == task.surveyor_id)
    assert record.busy and record.scene == scene
    surveyors, vehicles = rows.states(now, RULES)
    assert next((s.lat, s.lon) for s in surveyors if s.surveyor_id == task.surveyor_id) == scene
    taken = next(v for v in vehicles if v.vehicle.vehicle_id == task.vehicle_id)
    assert taken.busy and taken.position == scene


async def test_the_watchdogs_replans_use_the_region_cache_and_keep_it_current(db):
    """Waiting claims re-planned by the watchdog read regions through the worker's cache, and what they
    assigned is kept in it: the next re-plan knows that surveyor is busy without reading the region."""
    from models.dispatch.planner import RegionPlan

    cache = RegionStateCache()
    now = datetime.now(timezone.utc)
    day_start = now.replace(hour=0)

    def hold(pending, surveyors, vehicles, now, rules, demand):  # intake decides nothing: the claim waits
        return RegionPlan()

    async def waiting_claim():
        accepted = await _accepted(db, "decline")
        await register_and_dispatch(db, [accepted], now, day_start, RULES, hold)
        return accepted.report.report_id

    async def surveyor_of(report_id):
        return await db.fetchval("SELECT surveyor_id FROM survey_tasks WHERE report_id = $1 AND live", report_id)

    async def version():
        return await db.fetchval("SELECT state_version FROM regions WHERE region_id = 'decline'")

    first = await waiting_claim()
    await watchdog_service.replan_waiting(db, now, day_start, Dispatcher(RULES, _planner([]), cache))
    assert await surveyor_of(first) is not None
    kept = cache.get("decline", await version(), day_start)
    assert kept is not None  # its own assignment mirrored, at the version it left
    async with db.acquire() as conn:
        fresh = (await roster_store.region_rows(conn, ["decline"], day_start))["decline"]
    for mine, theirs in zip(kept.states(now, RULES), fresh.states(now, RULES)):
        assert sorted(map(repr, mine)) == sorted(map(repr, theirs))

    second = await waiting_claim()
    hits = cache.hits
    await watchdog_service.replan_waiting(db, now, day_start, Dispatcher(RULES, _planner([]), cache))
    assert cache.hits > hits
    assert await surveyor_of(second) not in (None, await surveyor_of(first))


async def test_the_watchdog_leaves_a_region_with_nothing_to_decide_alone(db):
    """Every surveyor of the region busy and its waiting claim not due: nothing there can be decided
    differently, and the watchdog does not take the region's lock (in a storm it made intake wait for it
    in every region, every pass). Once the claim is due, the region is re-planned."""
    from models.dispatch.planner import RegionPlan

    now = datetime.now(timezone.utc)
    day_start = now.replace(hour=0)
    busy = [await _accepted(db, "survey") for _ in range(3)]
    await register_and_dispatch(db, busy, now, day_start, RULES, _planner([]))
    assert await db.fetchval("SELECT count(*) FROM survey_tasks WHERE region_id = 'survey' AND live") == 3
    waiting = await _accepted(db, "survey")
    await register_and_dispatch(db, [waiting], now, day_start, RULES,
                                lambda pending, surveyors, vehicles, now, rules, demand: RegionPlan())
    calls = []
    async with db.acquire() as holder:
        lock = holder.transaction()
        await lock.start()
        await holder.execute("SELECT pg_advisory_xact_lock(hashtext('region:survey'))")
        # Would wait for the lock (and time out here) if the region were taken up.
        await asyncio.wait_for(watchdog_service.replan_waiting(db, now, day_start, Dispatcher(RULES, _planner(calls))), 10)
        await lock.rollback()
    assert not any(waiting.report.report_id in c for c in calls)

    await db.execute("UPDATE claims SET review_at = $2 WHERE report_id = $1", waiting.report.report_id,
                     now - timedelta(seconds=1))
    await watchdog_service.replan_waiting(db, now, day_start, Dispatcher(RULES, _planner(calls)))
    assert any(waiting.report.report_id in c for c in calls)


async def test_inbox_and_outbox_rows_past_their_retention_are_deleted_and_nothing_unpublished(db, monkeypatch):
    from streams.store import outbox

    monkeypatch.setattr(outbox, "PRUNE_CHUNK", 2)  # several chunks
    now = datetime.now(timezone.utc)
    old_events = [uuid.uuid4() for _ in range(5)]
    new_event = uuid.uuid4()
    await db.execute("INSERT INTO inbox (consumer, event_id, processed_at) SELECT 'retention', e, $2"
                     " FROM unnest($1::uuid[]) AS e", old_events, now - timedelta(days=10))
    await db.execute("INSERT INTO inbox (consumer, event_id, processed_at) VALUES ('retention', $1, $2)",
                     new_event, now)
    records = {name: uuid.uuid4() for name in ("old published", "old unpublished", "new published")}
    for name, published in (("old published", now - timedelta(days=3)), ("old unpublished", None),
                            ("new published", now)):
        await db.execute("INSERT INTO outbox (event_id, consumer, source_event_id, topic, key, value, created_at,"
                         " published_at) VALUES ($1, 'retention', $2, 't', NULL, 'v', $3, $4)",
                         records[name], new_event, now - timedelta(days=3), published)

    async with db.acquire() as other:  # another worker pruning: this one leaves it to them
        await other.execute("SELECT pg_advisory_lock(hashtext('retention'))")
        assert await outbox.prune(db, now - timedelta(days=8), now - timedelta(days=2)) is None
        await other.execute("SELECT pg_advisory_unlock(hashtext('retention'))")

    assert await outbox.prune(db, now - timedelta(days=8), now - timedelta(days=2)) == (5, 1)
    assert await db.fetchval("SELECT array_agg(event_id) FROM inbox WHERE consumer = 'retention'") == [new_event]
    kept = set(await db.fetchval("SELECT array_agg(event_id) FROM outbox WHERE consumer = 'retention'"))
    assert kept == {records["old unpublished"], records["new published"]}


async def test_the_commit_time_intake_reports_is_the_commits_alone(db):
    """``commit_seconds`` (intake's ``claims_db_commit_seconds``, what a stalling disk shows in) is the COMMIT's
    time: with a claim's insert made to take 1.5 s and the commit 0.3 s (triggers that sleep, the deferred one
    running at COMMIT), it is 0.3 s and some (the disk's own sync may add to it), not 1.8. A batch with nothing
    new commits nothing to time."""
    await db.execute("""
        CREATE FUNCTION test_sleep() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(TG_ARGV[0]::float8); RETURN NULL; END $$;
        CREATE TRIGGER test_slow_insert AFTER INSERT ON claims FOR EACH ROW EXECUTE FUNCTION test_sleep('1.5');
        CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON claims DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION test_sleep('0.3');
    """)
    try:
        accepted = await _accepted(db)
        done = await _intake(db, [accepted])
        assert done.new and 0.3 <= done.commit_seconds < 1.5
    finally:
        await db.execute("DROP TRIGGER test_slow_insert ON claims; DROP TRIGGER test_slow_commit ON claims;"
                         " DROP FUNCTION test_sleep()")
    again = await _intake(db, [accepted])
    assert again.new == [] and again.commit_seconds is None


async def test_a_claim_left_waiting_as_it_arrives_is_stored_with_its_review_time(db):
    """A claim that no one free takes as it arrives is looked at again at its review time (when the watchdog
    raises dispatch_overdue): stored with the claim in the batch that stored it, although a claim just
    stored with no review time is not written again."""
    from models.dispatch.planner import RegionPlan

    now = datetime.now(timezone.utc)
    due = now + timedelta(minutes=5)
    waiting, other = await _accepted(db, "store"), await _accepted(db, "escalate")

    def planner(pending, surveyors, vehicles, now, rules, demand=()):  # "store" waits 5 minutes, "escalate" not
        return RegionPlan(waiting=[p.claim.report_id for p in pending],
                          reviews={p.claim.report_id: due if p.claim.region_id == "store" else None for p in pending})

    await register_and_dispatch(db, [waiting, other], now, now.replace(hour=0), RULES, planner)
    reviews = dict(await db.fetch("SELECT report_id, review_at FROM claims WHERE report_id = ANY($1::text[])",
                                  [waiting.report.report_id, other.report.report_id]))
    assert reviews == {waiting.report.report_id: due, other.report.report_id: None}


@pytest_asyncio.fixture(loop_scope="session")
async def stale_statistics(store_url):
    """A database of its own (on the test server) whose planner statistics were taken while every claim was
    assigned, and which now holds 20,000 claims pending in 30 regions: a storm after a quiet hour, before
    autovacuum has analysed again (switched off here, so that it cannot)."""
    admin = await asyncpg.connect(store_url)
    name = f"stale_{uuid.uuid4().hex[:8]}"
    await admin.execute(f"CREATE DATABASE {name}")
    url = urlsplit(store_url)._replace(path=f"/{name}").geturl()
    await apply_migrations(url)
    conn = await asyncpg.connect(url)
    await conn.execute("ALTER TABLE claims SET (autovacuum_enabled = off)")
    await conn.execute("INSERT INTO regions (region_id, definition) SELECT 'r' || n, '{}' FROM generate_series(1, 30) n")
    insert = """INSERT INTO claims (report_id, event_id, reported_at, loss_time, received_at, region_id, zone, loss_type,
                                    policy_no, deadline_at, report, pending_since, dispatch_state, review_at)
                SELECT $1 || n, gen_random_uuid(), now(), now(), now(), 'r' || (n % 30 + 1), 'urban', 'vehicle',
                       'P', now() + interval '30 minutes', '{"location": {"lat": 30.0, "lon": 120.0}}', now(), $2,
                       $3::timestamptz + n * interval '1 ms'
                  FROM generate_series(1, $4) n"""
    await conn.execute(insert, "assigned-", "assigned", None, 300)
    await conn.execute("ANALYZE claims")
    await conn.execute(insert, "waiting-", "pending", datetime.now(timezone.utc) + timedelta(minutes=5), 20_000)
    yield conn
    await conn.close()
    await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    await admin.close()


async def _claims_rows_read(conn) -> int:
    """Rows of ``claims`` and its indexes read so far in this transaction."""
    return await conn.fetchval(
        "SELECT (SELECT COALESCE(seq_tup_read, 0) FROM pg_stat_xact_user_tables WHERE relname = 'claims')"
        " + (SELECT COALESCE(sum(pg_stat_get_xact_tuples_returned(indexrelid)), 0) FROM pg_index"
        "    WHERE indrelid = 'claims'::regclass)")


async def test_asking_whether_claims_wait_reads_a_claim_per_region_whatever_the_statistics_say(stale_statistics):
    """lock_regions (intake's every batch) and the watchdog's pass ask, per region, whether claims wait there.
    Asked as EXISTS, PostgreSQL read every pending claim for it when its statistics said none were pending
    (migration 009: half of intake's speed in a 100,000 backlog). Asked per region with LIMIT 1, it reads
    about one claim per region however many wait. Likewise the claims a re-plan names are read by their
    keys, not by walking every waiting claim."""
    conn = stale_statistics
    regions = [f"r{n}" for n in range(1, 31)]
    async with conn.transaction():
        before = await _claims_rows_read(conn)
        rows = await conn.fetch("SELECT * FROM lock_regions($1::text[], $2::text[])", regions, ["waiting-1"])
        read = await _claims_rows_read(conn) - before
    assert len(rows) == 30 and all(r["waiting"] for r in rows)
    assert read <= 3 * 30, f"lock_regions read {read} claims to answer for 30 regions"

    now = datetime.now(timezone.utc)
    async with conn.transaction():
        before = await _claims_rows_read(conn)
        waiting = await watchdog_store.waiting_regions(conn, now)
        read = await _claims_rows_read(conn) - before
    assert [r["region_id"] for r in waiting] == sorted(regions) and not any(r["due"] for r in waiting)
    assert read <= 3 * 30, f"the watchdog read {read} claims to answer for 30 regions"
    # the claims the watchdog names (those due for review) are read by their keys
    named = [f"waiting-{n}" for n in range(1, 21)]
    async with conn.transaction():
        before = await _claims_rows_read(conn)
        pending = await pending_claims(conn, named, [])
        read = await _claims_rows_read(conn) - before
    assert sorted(p.claim.report_id for p in pending) == sorted(named)
    assert read <= 3 * 20, f"reading 20 named claims read {read}"
    # and it still finds a claim due for review, in its region only
    await conn.execute("UPDATE claims SET review_at = $1 WHERE report_id = 'waiting-7'", now - timedelta(seconds=1))
    due = {r["region_id"] for r in await watchdog_store.waiting_regions(conn, now) if r["due"]}
    assert due == {"r8"}


async def test_a_claim_that_cannot_be_met_keeps_the_arrival_it_was_promised(db):
    """The plan's promise for a claim it cannot get to in time is kept with the claim and its task; the task's
    deadline stays the zone's limit (every 'met' count stays a count of limits met)."""
    accepted = await _accepted(db, "promise")

    now = datetime.now(timezone.utc)
    done = await register_and_dispatch(db, [accepted], now, now.replace(hour=0), RULES, _past_every_limit)
    [escalation] = [e for p in done.plans for e in p.escalated]
    assert escalation.reason.value == "deadline_unreachable" and escalation.proposed_arrival_at is not None
    assert escalation.proposed_arrival_at.minute % 5 == 0 and escalation.proposed_arrival_at > now
    row = await db.fetchrow(
        "SELECT c.promised_arrival_at AS claim_promise, c.deadline_at AS claim_deadline, t.promised_arrival_at"
        " AS task_promise, t.deadline_at AS task_deadline FROM claims c JOIN survey_tasks t USING (report_id)"
        " WHERE c.report_id = $1 AND t.live", accepted.report.report_id)
    assert row["claim_promise"] == row["task_promise"] == escalation.proposed_arrival_at
    # deadlines unchanged: the claim's the zone's limit, the task's the one it was planned with
    assert row["claim_deadline"] == accepted.claim.deadline_at and row["task_deadline"] == escalation.deadline_at


def _all_day(sid, region, lat):
    """A surveyor on call all day at ``lat``, 120.0, and a vehicle beside them."""
    return ({"surveyor_id": sid, "name": "測試", "region_id": region, "skills": ["vehicle"], "base_lat": lat,
             "base_lon": 120.0, "shift": "on_call", "shift_start": "00:00:00", "shift_end": "00:00:00",
             "all_day": True},
            {"vehicle_id": f"v-{sid}", "region_id": region, "equipment": ["camera"], "base_lat": lat,
             "base_lon": 120.0})


async def _with_roster(url, pool, regions, people):
    """Load a roster of ``regions`` and ``people`` (``_all_day``); returns a maker of reports there."""
    from models.dispatch.roster import Roster
    from streams.commands.bootstrap import load_roster
    from tests.report_factory import report_dict

    await load_roster(url, Roster.model_validate({"regions": regions, "surveyors": [p for p, _ in people],
                                                  "vehicles": [v for _, v in people]}))
    known = await roster_store.regions(pool)

    def report(at, when, **fields):
        raw = report_dict(at=at, report_id=f"roster-{uuid.uuid4().hex[:8]}", now=when, **fields)
        return register_report(json.dumps(raw).encode(), known, RULES, when)
    return report


async def test_a_neighbours_spare_surveyor_is_sent_when_home_cannot_be_on_time(store_url):
    """Home's one surveyor is 28 km from an urban scene (52 min: late); its neighbour region has two free,
    one 5.5 km off (17 min): that one is sent, the task kept as the neighbour's surveyor's (home_region_id)."""
    from tests.conftest import own_database

    regions = [{"region_id": "home", "name": "home", "centre_lat": 30.0, "centre_lon": 120.0, "neighbours": ["next"]},
               {"region_id": "next", "name": "next", "centre_lat": 30.3, "centre_lon": 120.0}]
    async with own_database(store_url, "lend") as (url, pool):
        report = await _with_roster(url, pool, regions, [_all_day("home-s0", "home", 29.75),
                                                         _all_day("next-s0", "next", 30.05),
                                                         _all_day("next-s1", "next", 30.3)])
        now = datetime.now(timezone.utc)
        accepted = report((30.0, 120.0), now)
        done = await register_and_dispatch(pool, [accepted], now, now.replace(hour=0), RULES, _planner([]))
        [a] = [a for p in done.plans for a in p.assigned]
        assert (a.surveyor_id, a.meets_deadline, a.region_id) == ("next-s0", True, "home")
        assert not [e for p in done.plans for e in p.escalated]
        assert await pool.fetchval("SELECT home_region_id FROM survey_tasks WHERE task_id = $1", a.task_id) == "next"
        # What the surveyors' apps and downstream read is the loan, not the home plan's late assignment.
        published = [json.loads(o.value) for o in done.outputs if o.topic == "dispatch.assignments"]
        assert [(m["type"], m["surveyor_id"], m["task_id"]) for m in published] == \
            [("surveyor_assigned", "next-s0", str(a.task_id))]


async def test_an_arrival_says_whether_it_met_the_limit_the_promise_and_how_far_off_the_estimate_was(db):
    """A claim that could not be met, promised a time: its surveyor arriving after the limit and by the promise
    is on promise, not on time; the estimate's error is the arrival minus the estimate made at dispatch."""
    from models.contract.surveyor_events import ArrivedAtScene
    from streams.services.dispatch import apply_surveyor_status

    accepted = await _accepted(db, "promise")

    now = datetime.now(timezone.utc)
    done = await register_and_dispatch(db, [accepted], now, now.replace(hour=0), RULES, _past_every_limit)
    [a] = [a for p in done.plans for a in p.assigned if a.report_id == accepted.report.report_id]
    [e] = [e for p in done.plans for e in p.escalated if e.report_id == a.report_id]
    at = a.estimated_arrival_at + timedelta(minutes=2)
    assert a.deadline_at < at <= e.proposed_arrival_at
    arrived = ArrivedAtScene(event_id=uuid.uuid4(), occurred_at=at, surveyor_id=a.surveyor_id, task_id=a.task_id,
                             report_id=a.report_id, lat=a.scene.lat, lon=a.scene.lon)
    async with unit_of_work(db, "surveyor") as uow:
        progress = await apply_surveyor_status(uow, arrived, at, at.replace(hour=0),
                                               Dispatcher(RULES, _past_every_limit), None)
    assert progress.on_time is False and progress.on_promise is True
    assert progress.estimate_error_s == pytest.approx(120, abs=1e-3)


async def test_travel_is_corrected_from_the_latest_arrivals_of_a_region(db):
    """Twelve trips in one region each took 1.5 times the estimated drive: that region's factor is 1.5
    (no shrinkage asked for), read from the tasks as they are stored."""
    from models.dispatch.trip_learning import LearningRules
    from streams.services.travel_learning import learned_factors

    from tests.conftest import area_centre
    from tests.report_factory import report_dict

    setup = StraightLineTravel().setup_minutes
    lat, lon = area_centre("trips")
    for _ in range(12):  # scenes 4 km off the surveyors' bases: a drive to learn from
        raw = report_dict(at=(lat + 0.04, lon), report_id=f"trip-{uuid.uuid4().hex[:8]}", now=datetime.now(timezone.utc))
        accepted = register_report(json.dumps(raw).encode(), await roster_store.regions(db), RULES,
                                   datetime.now(timezone.utc))
        done = await _intake(db, [accepted])
        [a] = [a for p in done.plans for a in p.assigned]
        drive = (a.estimated_arrival_at - a.occurred_at).total_seconds() / 60 - setup
        # arrived and done (the region's three surveyors free again for the next claim)
        await db.execute("UPDATE survey_tasks SET arrived_at = assigned_at + make_interval(secs => $2),"
                         " completed_at = now(), status = 'completed' WHERE task_id = $1", a.task_id,
                         (setup + 1.5 * drive) * 60)
    factors = await learned_factors(db, RULES.timezone, setup, LearningRules(prior_trips=0, min_trips=10))
    assert factors.table[("trips", a.zone)] == pytest.approx(1.5, abs=1e-6)


async def test_time_on_scene_is_learned_per_loss_type_and_a_busy_surveyor_is_expected_free_after_it(db):
    """Twelve theft surveys each took 100 minutes on scene: theft's learned time is 100 (no shrinkage asked for),
    read from the tasks as they are stored; a surveyor then on a theft task is expected free 100 minutes after
    arriving, where the configured 45 would have said 45."""
    from models.contract.loss_report import LossType
    from models.dispatch.scene_times import SceneTimeRules
    from streams.services.travel_learning import learned_scene_times

    from tests.conftest import area_centre
    from tests.report_factory import report_dict

    lat, lon = area_centre("scenes")

    async def theft_arrived():
        raw = report_dict(at=(lat + 0.04, lon), report_id=f"scene-{uuid.uuid4().hex[:8]}",
                          now=datetime.now(timezone.utc), loss_type="theft")
        accepted = register_report(json.dumps(raw).encode(), await roster_store.regions(db), RULES,
                                   datetime.now(timezone.utc))
        [a] = [a for p in (await _intake(db, [accepted])).plans for a in p.assigned]
        await db.execute("UPDATE survey_tasks SET arrived_at = assigned_at + interval '10 minutes', status = 'arrived'"
                         " WHERE task_id = $1", a.task_id)
        return a

    for _ in range(12):
        a = await theft_arrived()
        await db.execute("UPDATE survey_tasks SET completed_at = arrived_at + interval '100 minutes',"
                         " status = 'completed' WHERE task_id = $1", a.task_id)
    learned = await learned_scene_times(db, RULES.survey_minutes_for, SceneTimeRules(prior_surveys=0, min_surveys=10))
    assert learned[LossType.THEFT] == pytest.approx(100)

    a = await theft_arrived()
    arrived = await db.fetchval("SELECT arrived_at FROM survey_tasks WHERE task_id = $1", a.task_id)
    rows = await roster_store.region_rows(db, ["scenes"], arrived.replace(hour=0))
    now = datetime.now(timezone.utc)
    learned_rules = RULES.model_copy(update={"survey_minutes_by_loss_type": learned})
    for rules, minutes in ((RULES, RULES.survey_minutes), (learned_rules, 100)):
        [busy] = [s for s in rows["scenes"].states(now, rules)[0] if s.surveyor_id == a.surveyor_id]
        assert busy.busy and busy.free_at == arrived + timedelta(minutes=minutes)


async def test_an_arrival_promise_passed_without_the_surveyor_fires_once_and_an_arrival_in_time_does_not(db):
    """A claim no one could reach in time is promised an arrival; when that time passes with no arrival the
    watchdog says so once (``arrival_promise_missed``), however often it runs; a claim whose surveyor arrived
    says nothing."""
    from models.contract.dispatch_events import ArrivalPromiseMissed

    now = datetime.now(timezone.utc)
    batch = [await _accepted(db, "watch") for _ in range(2)]
    done = await register_and_dispatch(db, batch, now, now.replace(hour=0), RULES, _past_every_limit)
    proposed = {e.report_id: e.proposed_arrival_at for p in done.plans for e in p.escalated}
    promised = {a.report_id: (a, proposed[a.report_id]) for p in done.plans for a in p.assigned}
    assert len(promised) == 2
    (kept, at), (broken, _) = promised.values()
    await db.execute("UPDATE survey_tasks SET arrived_at = $2, status = 'arrived' WHERE task_id = $1", kept.task_id,
                     at - timedelta(minutes=1))
    later = max(p for _, p in promised.values()) + timedelta(seconds=1)

    def mine(fired):
        return [ArrivalPromiseMissed.model_validate_json(o.value) for _, d in fired for o in d.outputs
                if json.loads(o.value)["report_id"] in promised]

    assert not mine(await watchdog_service.fire_promises_missed(db, min(p for _, p in promised.values())
                                                                 - timedelta(seconds=1)))
    [missed] = mine(await watchdog_service.fire_promises_missed(db, later))
    assert missed.report_id == broken.report_id and missed.promised_arrival_at == promised[broken.report_id][1]
    assert missed.deadline_at == broken.deadline_at and missed.surveyor_id == broken.surveyor_id
    assert not mine(await watchdog_service.fire_promises_missed(db, later + timedelta(minutes=5)))


def _everyone_busy(pending, surveyors, vehicles, now, rules, demand=()):
    """The real planner, every limit passed and every surveyor out for two more hours: claims are left waiting,
    each told when the backlog will reach it."""
    due = [dataclasses.replace(p, claim=p.claim.model_copy(update={"deadline_at": now})) for p in pending]
    out = [dataclasses.replace(s, busy=True, free_at=now + timedelta(hours=2)) for s in surveyors]
    return plan_region(due, out, vehicles, rules, StraightLineTravel(), now)


async def test_a_time_told_to_a_claim_still_waiting_is_watched_too_once_per_time_told(db):
    """A claim left with no one is told an arrival at once (``all_surveyors_busy``); when that time passes and
    still no one has been sent, the watchdog says so once (no task, no surveyor); a later time told is watched
    too; once someone is sent, a time told that passes is settled without a word."""
    from models.contract.dispatch_events import ArrivalPromiseMissed

    accepted = await _accepted(db, "watch")
    rid = accepted.report.report_id
    now = datetime.now(timezone.utc)
    done = await register_and_dispatch(db, [accepted], now, now.replace(hour=0), RULES, _everyone_busy)
    assert not [a for p in done.plans for a in p.assigned]
    [told] = [e for p in done.plans for e in p.escalated if e.report_id == rid]
    assert told.reason.value == "all_surveyors_busy" and told.proposed_arrival_at > now + timedelta(hours=2)
    assert await db.fetchval("SELECT proposed_arrival_at FROM escalations WHERE event_id = $1", told.event_id) == \
        told.proposed_arrival_at

    def mine(fired):
        return [ArrivalPromiseMissed.model_validate_json(o.value) for _, d in fired for o in d.outputs
                if json.loads(o.value)["report_id"] == rid]

    assert not mine(await watchdog_service.fire_promises_missed(db, told.proposed_arrival_at - timedelta(seconds=1)))
    passed = told.proposed_arrival_at + timedelta(seconds=1)
    [missed] = mine(await watchdog_service.fire_promises_missed(db, passed))
    assert missed.task_id is None and missed.surveyor_id is None
    assert missed.promised_arrival_at == told.proposed_arrival_at and missed.deadline_at == accepted.claim.deadline_at
    assert not mine(await watchdog_service.fire_promises_missed(db, passed + timedelta(minutes=5)))
    # the customer told a later time (another escalation of the claim): watched too, fired once when it passes
    later = told.proposed_arrival_at + timedelta(minutes=30)
    retold = told.model_copy(update={"event_id": uuid.uuid4(), "proposed_arrival_at": later})
    async with db.acquire() as conn:
        await dispatch_store.store_escalations(conn, [retold], {rid: 1})
    assert not mine(await watchdog_service.fire_promises_missed(db, passed + timedelta(minutes=6)))
    [again] = mine(await watchdog_service.fire_promises_missed(db, later + timedelta(seconds=1)))
    assert again.promised_arrival_at == later and again.event_id != missed.event_id
    # once someone is sent, a time told that passes is settled silently (the task's own watch holds it)
    await db.execute("UPDATE claims SET dispatch_state = 'assigned' WHERE report_id = $1", rid)
    third = told.model_copy(update={"event_id": uuid.uuid4(), "proposed_arrival_at": later + timedelta(minutes=30)})
    async with db.acquire() as conn:
        await dispatch_store.store_escalations(conn, [third], {rid: 1})
    assert not mine(await watchdog_service.fire_promises_missed(db, later + timedelta(hours=1)))
    assert await db.fetchval("SELECT promise_checked_at IS NOT NULL FROM escalations WHERE event_id = $1",
                             third.event_id)


async def test_a_surveyor_on_the_way_to_a_routine_claim_is_turned_round_to_a_serious_injury(store_url):
    """The region's one surveyor is on the way to a scratched bumper 6.7 km north when a serious injury is reported
    3.3 km south of where they set out: no one else can be there in time, so they are turned round (rule: a higher
    class is never left waiting so that a lower one is met). The routine claim's task is withdrawn and the claim is
    back with dispatch and planned again in the same unit of work, the surveyor still allowed to take it; a
    redelivered report changes nothing."""
    from tests.conftest import own_database

    async with own_database(store_url, "turn") as (url, pool):
        report = await _with_roster(url, pool, [{"region_id": "turn", "name": "turn", "centre_lat": 30.0,
                                                 "centre_lon": 120.0}], [_all_day("turn-s0", "turn", 30.0)])
        sent = datetime.now(timezone.utc)

        cache = RegionStateCache()

        async def kept_is_current(at):
            version = await pool.fetchval("SELECT state_version FROM regions WHERE region_id = 'turn'")
            kept = cache.get("turn", version, sent.replace(hour=0))
            assert kept is not None  # its own writes mirrored, the turn included
            async with pool.acquire() as conn:
                read = (await roster_store.region_rows(conn, ["turn"], sent.replace(hour=0)))["turn"]
            fresh = RegionRows(None, sent.replace(hour=0), read.surveyors, read.vehicles)
            for mine, theirs in zip(kept.states(at, RULES), fresh.states(at, RULES)):
                assert list(map(repr, mine)) == list(map(repr, theirs))

        routine = report((30.06, 120.0), sent)
        first = await register_and_dispatch(pool, [routine], sent, sent.replace(hour=0), RULES, _planner([]), cache)
        await kept_is_current(sent)
        [going] = [a for p in first.plans for a in p.assigned]
        assert going.surveyor_id == "turn-s0" and going.meets_deadline

        now = sent + timedelta(minutes=3)
        urgent = report((29.97, 120.0), now, injuries={"count": 1, "severity": "serious"})
        assert urgent.claim.priority == 1
        done = await register_and_dispatch(pool, [urgent], now, sent.replace(hour=0), RULES, _planner([]), cache)
        await kept_is_current(now)
        [plan, replanned] = done.plans
        [turned] = plan.assigned
        assert (turned.report_id, turned.surveyor_id, turned.meets_deadline) == \
            (urgent.report.report_id, "turn-s0", True)
        # The claim given up is planned again in the same unit of work: its customer hears at once that nobody is
        # free (the one surveyor now on the way to the injury), with the time the plan can keep.
        published = [json.loads(o.value) for o in done.outputs if o.topic == "dispatch.assignments"]
        assert [(m["type"], m["report_id"]) for m in published] == \
            [("task_withdrawn", routine.report.report_id), ("surveyor_assigned", urgent.report.report_id),
             ("dispatch_escalated", routine.report.report_id)]
        assert published[0]["task_id"] == str(going.task_id) and published[0]["reason"] == "diverted"
        [told] = replanned.escalated
        assert told.reason.value == "all_surveyors_busy" and told.proposed_arrival_at > turned.estimated_arrival_at
        task = await pool.fetchrow("SELECT status, cancel_reason FROM survey_tasks WHERE task_id = $1", going.task_id)
        assert (task["status"], task["cancel_reason"]) == ("cancelled", "diverted")
        claim = await pool.fetchrow("SELECT dispatch_state, reassign_reason FROM claims WHERE report_id = $1",
                                    routine.report.report_id)
        assert (claim["dispatch_state"], claim["reassign_reason"]) == ("pending", "diverted")
        assert await pool.fetchval("SELECT count(*) FROM escalations WHERE report_id = $1 AND reason = $2",
                                   routine.report.report_id, "all_surveyors_busy") == 1
        # The new task sets out from about where they were turned round: a quarter of the way (3 of about 12
        # minutes) north.
        lat = await pool.fetchval("SELECT set_out_lat FROM survey_tasks WHERE task_id = $1", turned.task_id)
        assert 30.005 < lat < 30.03
        async with pool.acquire() as conn:
            [back] = await pending_claims(conn, [routine.report.report_id], [])
        assert back.exclude == frozenset() and back.reassign_reason == "diverted" and back.attempt == 2

        # The app had not heard of it yet and reports arriving at the scene given up: that trip is no arrival.
        from models.contract.surveyor_events import ArrivedAtScene
        from streams.services.dispatch import apply_surveyor_status
        stale = ArrivedAtScene(event_id=uuid.uuid4(), occurred_at=now, surveyor_id="turn-s0", task_id=going.task_id,
                               report_id=routine.report.report_id, lat=30.06, lon=120.0)
        async with unit_of_work(pool, "surveyor") as uow:
            progress = await apply_surveyor_status(uow, stale, now, sent.replace(hour=0), Dispatcher(RULES, _planner([])),
                                                   None)
        assert progress.on_time is None and progress.outputs == []
        assert await pool.fetchval("SELECT arrived_at FROM survey_tasks WHERE task_id = $1", going.task_id) is None

        again = await register_and_dispatch(pool, [urgent], now, sent.replace(hour=0), RULES, _planner([]))
        assert again.plans == [] and sorted(o.event_id for o in again.outputs) == sorted(o.event_id for o in done.outputs)
        assert await pool.fetchval("SELECT count(*) FROM survey_tasks") == 2


async def test_a_neighbours_spare_surveyor_in_time_is_sent_rather_than_turning_one_round(store_url):
    """As above, but the region next door has two free surveyors, one 2 km from the injury: she is lent, and the
    surveyor on the way to the scratched bumper goes on to it (no task withdrawn, nothing back with dispatch)."""
    from tests.conftest import own_database

    regions = [{"region_id": "turn", "name": "turn", "centre_lat": 30.0, "centre_lon": 120.0, "neighbours": ["next"]},
               {"region_id": "next", "name": "next", "centre_lat": 29.9, "centre_lon": 120.0, "neighbours": ["turn"]}]
    async with own_database(store_url, "lend") as (url, pool):
        report = await _with_roster(url, pool, regions, [_all_day("turn-s0", "turn", 30.0),
                                                         _all_day("next-s0", "next", 29.95),
                                                         _all_day("next-s1", "next", 29.8)])
        sent = datetime.now(timezone.utc)

        routine = report((30.06, 120.0), sent)
        first = await register_and_dispatch(pool, [routine], sent, sent.replace(hour=0), RULES, _planner([]))
        [going] = [a for p in first.plans for a in p.assigned]
        assert going.surveyor_id == "turn-s0"

        now = sent + timedelta(minutes=3)
        urgent = report((29.97, 120.0), now, injuries={"count": 1, "severity": "serious"})
        assert urgent.claim.region_id == "turn" and urgent.claim.priority == 1
        done = await register_and_dispatch(pool, [urgent], now, sent.replace(hour=0), RULES, _planner([]))
        [plan] = done.plans
        [lent] = plan.assigned
        assert (lent.surveyor_id, lent.meets_deadline, plan.loans) == ("next-s0", True, {urgent.report.report_id: "next"})
        assert not plan.withdrawn
        assert [json.loads(o.value)["type"] for o in done.outputs if o.topic == "dispatch.assignments"] == \
            ["surveyor_assigned"]
        assert await pool.fetchval("SELECT status FROM survey_tasks WHERE task_id = $1", going.task_id) == "assigned"
        assert await pool.fetchval("SELECT dispatch_state FROM claims WHERE report_id = $1",
                                   routine.report.report_id) == "assigned"


async def test_a_position_reported_on_the_way_is_where_the_trip_goes_on_from(db):
    """A turn round reckons where a surveyor is from where they set out and when: a position the app reports on
    the way restarts that from there, then; one reported at the scene changes no trip."""
    now = datetime.now(timezone.utc)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    accepted = await _accepted(db, "twice")
    done = await register_and_dispatch(db, [accepted], now, day_start, RULES, _planner([]))
    [task] = [a for p in done.plans for a in p.assigned]

    async def en_route():
        async with db.acquire() as conn:
            rows = (await roster_store.region_rows(conn, [task.region_id], day_start))[task.region_id]
        return next(r for r in rows.surveyors if r.surveyor.surveyor_id == task.surveyor_id).en_route

    first = await en_route()
    assert first.task_id == task.task_id and first.set_out_at == task.occurred_at
    later = now + timedelta(minutes=4)
    async with db.acquire() as conn:
        await dispatch_store.set_position(conn, task.surveyor_id, accepted.claim.lat - 0.01, accepted.claim.lon, later)
    moved = await en_route()
    assert (moved.from_lat, moved.from_lon, moved.set_out_at) == (accepted.claim.lat - 0.01, accepted.claim.lon, later)
    assert moved.position(accepted.claim.lat, accepted.claim.lon, later) == (moved.from_lat, moved.from_lon)
    await db.execute("UPDATE survey_tasks SET status = 'arrived', arrived_at = $2 WHERE task_id = $1", task.task_id,
                     later + timedelta(minutes=5))
    async with db.acquire() as conn:
        await dispatch_store.set_position(conn, task.surveyor_id, 0.0, 0.0, later + timedelta(minutes=6))
    assert await en_route() is None
    assert await db.fetchval("SELECT set_out_lat FROM survey_tasks WHERE task_id = $1", task.task_id) == \
        accepted.claim.lat - 0.01


async def test_a_surveyor_done_with_nothing_next_is_sent_back_to_base_once_and_seen_on_the_way(db):
    """A survey 11 km from base ends with nothing waiting: the app is told to drive back to base (the roster's),
    dispatch stores the drive and reckons the surveyor, and the vehicle, part way along it; a redelivered
    completion changes nothing; the next task ends the drive back."""
    from models.callbacks.rules import CallbackRules
    from models.contract.surveyor_events import ArrivedAtScene, PositionReported, SurveyCompleted
    from models.working_days import WorkingDays
    from streams.services.callbacks import CallbackContext
    from streams.services.dispatch import apply_surveyor_status

    from tests.conftest import area_centre
    from tests.report_factory import report_dict

    lat, lon = area_centre("home")
    raw = report_dict(at=(lat + 0.1, lon), report_id=f"home-{uuid.uuid4().hex[:8]}", now=datetime.now(timezone.utc))
    accepted = register_report(json.dumps(raw).encode(), await roster_store.regions(db), RULES,
                               datetime.now(timezone.utc))
    [a] = [a for p in (await _intake(db, [accepted])).plans for a in p.assigned]
    base = await db.fetchrow("SELECT (definition->>'base_lat')::float8 AS lat, (definition->>'base_lon')::float8 AS lon"
                             " FROM surveyors WHERE surveyor_id = $1", a.surveyor_id)
    now = datetime.now(timezone.utc)
    context = CallbackContext(CallbackRules(), WorkingDays())
    arrived = ArrivedAtScene(event_id=uuid.uuid4(), occurred_at=now, surveyor_id=a.surveyor_id, task_id=a.task_id,
                             report_id=a.report_id, lat=a.scene.lat, lon=a.scene.lon)
    done = SurveyCompleted(event_id=uuid.uuid4(), occurred_at=now, surveyor_id=a.surveyor_id, task_id=a.task_id,
                           report_id=a.report_id)
    sent = []
    for event in (arrived, done, done):
        async with unit_of_work(db, "surveyor") as uow:
            await apply_surveyor_status(uow, event, now, now.replace(hour=0), Dispatcher(RULES, _planner([])), context)
        sent += [o for o in uow.outputs if b'"surveyor_sent_to_base"' in o.value]
    # one decision, though the completion came twice (the redelivery republishes it until it is published)
    assert len({o.event_id for o in sent}) == 1
    told = json.loads(sent[0].value)
    assert (told["surveyor_id"], told["report_id"], told["vehicle_id"]) == (a.surveyor_id, a.report_id, a.vehicle_id)
    assert (told["lat"], told["lon"]) == (base["lat"], base["lon"])
    there = datetime.fromisoformat(told["expected_at"])
    assert there > now + timedelta(minutes=10)

    half = now + (there - now) / 2
    rows = await roster_store.region_rows(db, ["home"], now.replace(hour=0))
    people, fleet = rows["home"].states(half, RULES)
    [s] = [s for s in people if s.surveyor_id == a.surveyor_id]
    [v] = [v for v in fleet if v.vehicle.vehicle_id == a.vehicle_id]
    assert not s.busy
    assert s.lat == pytest.approx((a.scene.lat + base["lat"]) / 2) and v.position == (s.lat, s.lon)
    [s] = [s for s in rows["home"].states(there + timedelta(minutes=1), RULES)[0] if s.surveyor_id == a.surveyor_id]
    assert (s.lat, s.lon) == (base["lat"], base["lon"])

    # the app reports them half way at a quarter of the time: the drive goes on from there, with the vehicle
    quarter, where = now + (there - now) / 4, ((a.scene.lat + base["lat"]) / 2, base["lon"])
    moved = PositionReported(event_id=uuid.uuid4(), occurred_at=quarter, surveyor_id=a.surveyor_id, lat=where[0],
                             lon=where[1])
    async with unit_of_work(db, "surveyor") as uow:
        await apply_surveyor_status(uow, moved, quarter, now.replace(hour=0), Dispatcher(RULES, _planner([])), context)
    rows = await roster_store.region_rows(db, ["home"], now.replace(hour=0))
    people, fleet = rows["home"].states(quarter + (there - quarter) / 2, RULES)
    [s] = [s for s in people if s.surveyor_id == a.surveyor_id]
    [v] = [v for v in fleet if v.vehicle.vehicle_id == a.vehicle_id]
    assert s.lat == pytest.approx((where[0] + base["lat"]) / 2) and v.position == (s.lat, s.lon)

    raw = report_dict(at=(lat + 0.05, lon), report_id=f"home-{uuid.uuid4().hex[:8]}", now=datetime.now(timezone.utc))
    await db.execute("UPDATE surveyors SET duty = false, duty_until = now() + interval '1 hour'"
                     " WHERE region_id = 'home' AND surveyor_id <> $1", a.surveyor_id)
    accepted = register_report(json.dumps(raw).encode(), await roster_store.regions(db), RULES,
                               datetime.now(timezone.utc))
    [b] = [b for p in (await _intake(db, [accepted])).plans for b in p.assigned]
    assert b.surveyor_id == a.surveyor_id
    assert await db.fetchval("SELECT return_trip FROM surveyors WHERE surveyor_id = $1", a.surveyor_id) is None
