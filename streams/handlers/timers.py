"""What the worker's timers do: deadlines from PostgreSQL fire once each, waiting claims are re-planned,
records a dead worker left unpublished are relayed (every ``watchdog_interval_s``); the board's
gauges are recomputed on a slower timer of their own (``board_interval_s``), and inbox and outbox
rows past their retention deleted on another (``retention_interval_s``)."""

from __future__ import annotations

from datetime import timedelta

import structlog

from models.contract.dispatch_events import EscalationReason
from models.desk.escalations import AGE_BANDS, UNCLOSED
from streams import metrics
from streams.handlers.counting import count_plan
from streams.runtime import Runtime
from streams.services import travel_learning
from streams.services import board, callbacks, calendar as calendar_service, watchdog as watchdog_service
from streams.store.outbox import prune, unpublished

log = structlog.get_logger("claims_dispatch.watchdog")

#: A record still unpublished this long after its transaction committed was left by a worker that died.
RELAY_AFTER_S = 10.0


async def watch_once(rt: Runtime) -> None:
    pool = await rt.pool()
    now = rt.now()
    day_start = rt.local_day_start(now)
    for result in await watchdog_service.fire_ack_timeouts(pool, now, day_start, rt.dispatcher):
        await rt.publish_outbox(result.outputs)
        for plan in result.plans:
            count_plan(plan, now)
    for result in await watchdog_service.fire_contact_reminders(pool, now):
        await rt.publish_outbox(result.outputs)
        metrics.CONTACT_REMINDERS.inc()
    for zone, result in await watchdog_service.fire_arrivals_missed(pool, now):
        await rt.publish_outbox(result.outputs)
        metrics.ARRIVAL_DEADLINES_MISSED.labels(zone).inc()
        log.warning("arrival_deadline_missed", zone=zone)
    for zone, result in await watchdog_service.fire_promises_missed(pool, now):
        await rt.publish_outbox(result.outputs)
        metrics.ARRIVAL_PROMISES_MISSED.labels(zone).inc()
        log.warning("arrival_promise_missed", zone=zone)
    for result in await watchdog_service.replan_waiting(pool, now, day_start, rt.dispatcher):
        await rt.publish_outbox(result.outputs)
        for plan in result.plans:
            count_plan(plan, now)
    await rt.publish_outbox(await unpublished(pool, RELAY_AFTER_S))
    overdue, expired = await callbacks.mark_overdue_and_expire(pool, now)
    for kind in expired:
        metrics.CALLBACKS_CLOSED.labels(kind, "expired").inc()
    if overdue or expired:
        log.warning("callbacks_overdue", overdue=len(overdue), expired=len(expired))


async def learn_travel(rt: Runtime) -> None:
    """Travel factors from the latest arrivals and times on scene from the latest completed surveys, for this
    worker's plans from now on; each exposed as a gauge."""
    factors = await travel_learning.learned_factors(await rt.pool(), rt.rules.timezone, rt.travel.setup_minutes,
                                                    rt.settings.travel_learning)
    rt.trip_factors = factors
    for key, value in factors.table.items():
        if len(key) == 3:
            metrics.TRAVEL_FACTOR.labels(key[0], key[1].value, key[2]).set(value)
    scene = await travel_learning.learned_scene_times(await rt.pool(), rt.settings.dispatch.survey_minutes_for,
                                                      rt.settings.scene_time_learning)
    rt.learn_scene_times(scene)
    for loss_type, minutes in scene.items():
        metrics.SURVEY_MINUTES.labels(loss_type.value).set(minutes)
    log.info("travel_learned", keys=len(factors.table), trips=max(factors.trips.values(), default=0),
             scene_times=len(scene))


async def refresh_board(rt: Runtime) -> None:
    """The gauges dispatchers and service managers watch: per region open tasks, waiting claims and
    available surveyors; per zone the deadline-met ratio; per callback kind the month's rates."""
    pool = await rt.pool()
    now = rt.now()
    gauges = await board.dispatch_gauges(pool, now, rt.local_day_start(now), rt.rules, rt.region_states)
    for region, n in gauges["available"].items():
        metrics.AVAILABLE_SURVEYORS.labels(region).set(n)
        metrics.OPEN_TASKS.labels(region).set(gauges["open_tasks"].get(region, 0))
        metrics.PENDING_REPORTS.labels(region).set(gauges["pending"].get(region, 0))
    for zone, ratio in gauges["deadline_met"].items():
        if ratio is not None:
            metrics.DEADLINE_MET_RATIO.labels(zone).set(ratio)
    figures = await board.callback_figures(pool, now, rt.callback_rules)
    for kind, kind_rules in rt.callback_rules.kinds.items():
        f = figures[kind.value]
        metrics.CALLBACK_TARGET_RATIO.labels(kind.value).set(kind_rules.target)
        metrics.CALLBACKS_OVERDUE.labels(kind.value).set(f.get("overdue", 0))
        if f["success_ratio"] is not None:
            metrics.CALLBACK_SUCCESS_RATIO.labels(kind.value).set(f["success_ratio"])
            metrics.CALLBACK_COVERAGE_RATIO.labels(kind.value).set(f["coverage_ratio"])
    escalations = await board.escalation_figures(pool, now)
    metrics.ESCALATIONS_OPEN.clear()
    for reason in EscalationReason:
        for state in UNCLOSED:
            for band, _ in AGE_BANDS:
                metrics.ESCALATIONS_OPEN.labels(reason.value, state.value, band).set(
                    escalations.counts.get((reason.value, state.value, band), 0))
    metrics.ESCALATION_OLDEST_UNACKNOWLEDGED.set(escalations.oldest_unacknowledged_s)
    metrics.ESCALATION_ACK_LIMIT.set(rt.settings.desk_rules.acknowledge_within_s)
    # The year-end turn of the holiday calendar: a year coming without a published schedule, and the open
    # dates reckoned on its provisional one (alert HolidayScheduleNotPublished).
    metrics.CALENDAR_DAYS_UNTIL_PROVISIONAL.clear()
    today = calendar_service.local_today(now, rt.callback_rules)
    for year, days in calendar_service.days_until_provisional(rt.calendar, today).items():
        metrics.CALENDAR_DAYS_UNTIL_PROVISIONAL.labels(str(year)).set(days)
    for item, n in (await calendar_service.open_provisional(pool)).items():
        metrics.CALENDAR_PROVISIONAL_DATES.labels(item).set(n)


async def recompute_calendar(rt: Runtime) -> None:
    """Provisional dates recomputed with this worker's calendar: a new package version or a configured year
    takes effect when workers restart with it, so once at start-up is when something can have changed."""
    result = await calendar_service.recompute(await rt.pool(), rt.callback_rules, rt.calendar, rt.now())
    count_recomputed(result)


def count_recomputed(result: "calendar_service.Recomputed") -> None:
    for item, n in result.moved_by_item().items():
        metrics.CALENDAR_DATES_RECOMPUTED.labels(item, "moved").inc(n)
    for item, n in result.confirmed.items():
        metrics.CALENDAR_DATES_RECOMPUTED.labels(item, "confirmed").inc(n)
    if result.moved or result.confirmed:
        log.info("calendar_recomputed", moved=result.moved_by_item(), confirmed=result.confirmed,
                 still_provisional=result.still_provisional)


async def prune_old_rows(rt: Runtime) -> None:
    """Inbox and outbox rows past their retention deleted (``Settings.inbox_retention_days``, ...)."""
    now = rt.now()
    pruned = await prune(await rt.pool(), now - timedelta(days=rt.settings.inbox_retention_days),
                         now - timedelta(days=rt.settings.outbox_retention_days))
    if pruned is not None:  # (None: another worker is at it)
        metrics.ROWS_PRUNED.labels("inbox").inc(pruned[0])
        metrics.ROWS_PRUNED.labels("outbox").inc(pruned[1])
        log.info("old_rows_pruned", inbox=pruned[0], outbox=pruned[1])
