"""The watchdog's handlers: deadlines that fire once each (acknowledgement, customer contact, arrival)
and the re-plan of regions whose waiting claims may be decided differently now.

Nothing here consumes an event: each firing is its own unit of work, its records kept in the outbox
under an id derived from what fired (a task, a region and the pass), so a pass cut short is resumed by
the relay and never fires twice."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from models.dispatch.fleet import free_on_duty
from models.dispatch.deadlines import arrival_missed, contact_overdue, promise_missed
from models.contract.event import derived_event_id
from models.dispatch.tasks import ACK_TIMED_OUT, step_after
from streams.codec import encode
from streams.services.dispatch import Dispatched, Dispatcher, keep_committed, replan_region, replan_regions
from streams.services.unit_of_work import unit_of_work
from streams.store import dispatch_store, watchdog_store
from streams.store.roster_store import region_rows

CONSUMER = "watchdog"


async def fire_ack_timeouts(pool: asyncpg.Pool, now: datetime, day_start: datetime, d: Dispatcher) -> list[Dispatched]:
    """Tasks nobody accepted in time: withdrawn, and the claim re-planned without that surveyor."""
    fired = []
    while True:
        async with unit_of_work(pool, CONSUMER) as uow:
            task = await watchdog_store.next_unacknowledged(uow.conn, now)
            if task is None:
                return fired
            step = step_after(task["status"], ACK_TIMED_OUT)
            await dispatch_store.set_task_status(uow.conn, task["task_id"], step.status,
                                                 cancel_reason=step.back_to_dispatch, ack_timed_out_at=now)
            await dispatch_store.send_back_to_dispatch(uow.conn, [(task["task_id"], task["report_id"])],
                                                       step.back_to_dispatch, now)
            result = await replan_region(uow, task["region_id"], now, day_start, d)
            uow.queue(derived_event_id("ack-timeout", task["task_id"]), result.outputs)
        fired.append(result)


async def fire_contact_reminders(pool: asyncpg.Pool, now: datetime) -> list[Dispatched]:
    """Tasks whose surveyor has not called the customer by the contact limit: a reminder each, once."""
    async with unit_of_work(pool, CONSUMER) as uow:
        fired = []
        for r in await watchdog_store.contacts_overdue(uow.conn, now):
            event = contact_overdue(r["task_id"], r["report_id"], r["region_id"], r["surveyor_id"],
                                    r["contact_due_at"], now)
            await watchdog_store.mark_reminded(uow.conn, r["task_id"], now)
            outputs = [encode("dispatch.assignments", event)]
            uow.queue(event.event_id, outputs)
            fired.append(Dispatched(outputs))
    return fired


async def fire_arrivals_missed(pool: asyncpg.Pool, now: datetime) -> list[tuple[str, Dispatched]]:
    """Live tasks past their arrival deadline with no arrival: (zone, records) for each, once."""
    async with unit_of_work(pool, CONSUMER) as uow:
        fired = []
        for r in await watchdog_store.arrivals_missed(uow.conn, now):
            missed, notice = arrival_missed(r["task_id"], r["report_id"], r["region_id"], r["zone"], r["surveyor_id"],
                                            r["deadline_at"], r["estimated_arrival_at"], now)
            await watchdog_store.mark_arrival_missed(uow.conn, r["task_id"], now)
            outputs = [encode("dispatch.assignments", missed), encode("dispatch.assignments", notice)]
            uow.queue(missed.event_id, outputs)
            fired.append((r["zone"], Dispatched(outputs)))
    return fired


async def fire_promises_missed(pool: asyncpg.Pool, now: datetime) -> list[tuple[str, Dispatched]]:
    """Live tasks past the arrival promised their claim with no arrival, and claims past the arrival they were
    told with no one sent yet: (zone, records) for each, once (a claim's once per time told)."""
    async with unit_of_work(pool, CONSUMER) as uow:
        fired = []
        for r in await watchdog_store.promises_missed(uow.conn, now):
            missed = promise_missed(r["task_id"], r["report_id"], r["region_id"], r["zone"], r["surveyor_id"],
                                    r["deadline_at"], r["promised_arrival_at"], r["estimated_arrival_at"], now)
            await watchdog_store.mark_promise_missed(uow.conn, r["task_id"], now)
            outputs = [encode("dispatch.assignments", missed)]
            uow.queue(missed.event_id, outputs)
            fired.append((r["zone"], Dispatched(outputs)))
        # Times told while the claim waited: fired if it still waits with no one sent, else settled silently
        # (its task, if any, is watched above).
        passed = await watchdog_store.times_told_passed(uow.conn, now)
        for r in passed:
            if not r["waiting"]:
                continue
            missed = promise_missed(None, r["report_id"], r["region_id"], r["zone"], None, r["deadline_at"],
                                    r["proposed_arrival_at"], None, now, told=r["event_id"])
            outputs = [encode("dispatch.assignments", missed)]
            uow.queue(missed.event_id, outputs)
            fired.append((r["zone"], Dispatched(outputs)))
        if passed:
            await watchdog_store.mark_times_told_checked(uow.conn, [r["event_id"] for r in passed], now)
    return fired


async def replan_waiting(pool: asyncpg.Pool, now: datetime, day_start: datetime, d: Dispatcher) -> list[Dispatched]:
    """Re-plan the regions whose waiting claims may be decided differently now: where a surveyor is
    free (shifts start, tasks end outside the surveyor loop), and the claims whose dispatch limit has
    passed while they waited for a busy surveyor (dispatch_overdue). A region whose every surveyor is
    busy is not re-planned as a whole: nothing but time changes there, and its review times say when.

    Regions' state comes from the region cache where it is current (each transaction here writes nothing
    before planning), and what a re-plan assigned is kept in it once committed: in a storm every region
    has waiting claims, and each pass read them all from the database.

    Only regions with something to decide open a transaction (and take the region's lock, which intake
    waits for): a claim due for review, or a free surveyor on duty, as the region's committed state says
    (one more pass is two seconds away if it changes meanwhile)."""
    async with pool.acquire() as conn:
        waiting = await watchdog_store.waiting_regions(conn, now)
        quiet = [r["region_id"] for r in waiting if not r["due"]]
        rows = await region_rows(conn, quiet, day_start, {r["region_id"]: r["state_version"] for r in waiting},
                                 d.cache)
    regions = [r["region_id"] for r in waiting
               if r["due"] or free_on_duty(rows[r["region_id"]].states(now, d.rules)[0], now, d.rules)]
    results = []
    tick = now.isoformat()
    for region_id in regions:
        async with unit_of_work(pool, CONSUMER) as uow:
            due = await dispatch_store.due_for_review(uow.conn, region_id, now)
            planned = await replan_regions(uow, {region_id: due}, now, day_start, d)
            uow.queue(derived_event_id("replan", region_id, tick), planned[region_id].outputs)
        keep_committed(d.cache, planned)
        results.append(planned[region_id])
    return results
