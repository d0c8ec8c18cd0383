"""Every Faust agent and timer the worker runs, and what each subscribes to.

An agent only hands its stream to the record loop (``record_loop``: retries, dead letters, a bad record
isolated from its batch) with the handler for its topic (``streams.handlers``: decode, one unit of work
through a service, publish, count). Control only goes down: agent → loop → handler → service → store/models.
"""

from __future__ import annotations

import structlog

from streams import metrics
from streams.agents.record_loop import run_batches, run_records
from streams.handlers import (callback_attempts, callback_triggers, desk_commands, intake, monthly_report,
                              surveyor_status, timers)
from streams.runtime import Runtime
from streams.topic_names import on_broker

log = structlog.get_logger("claims_dispatch.agents")


def register(app, rt: Runtime, topics) -> None:
    """Agents for the input topics (``topics``: name → Faust topic) and the timers, on ``app``."""
    prepare, apply = intake.make_handlers(rt)

    @app.agent(topics["hotline.reports"], name="intake")
    async def intake_agent(stream):
        await run_batches("intake", rt, stream, prepare, apply, metrics.REPORTS_DEAD_LETTERED)

    status = surveyor_status.make_handler(rt)

    @app.agent(topics["surveyor.status"], name="surveyor-status")
    async def surveyor_status_agent(stream):
        await run_records("surveyor-status", rt, stream, status)

    trigger = callback_triggers.make_handler(rt)
    names = [on_broker(t, rt.settings.topic_prefix) for t in callback_triggers.TOPICS]
    business = app.topic(*names, value_type=bytes, key_type=bytes, value_serializer="raw",
                         key_serializer="raw")

    @app.agent(business, name="callback-triggers")
    async def callback_triggers_agent(stream):
        await run_records("callback-triggers", rt, stream, trigger)

    attempt = callback_attempts.make_handler(rt)

    @app.agent(topics["callbacks.attempts"], name="callback-attempts")
    async def callback_attempts_agent(stream):
        await run_records("callback-attempts", rt, stream, attempt)

    command = desk_commands.make_handler(rt)

    @app.agent(topics["dispatch.commands"], name="desk-commands")
    async def desk_commands_agent(stream):
        await run_records("desk-commands", rt, stream, command, metrics.DESK_COMMANDS_DEAD_LETTERED)

    register_timers(app, rt)


async def _counted(run, rt: Runtime, counter, failure: str) -> None:
    # A failed pass (database away, a bug) is logged and counted; the next pass tries again.
    try:
        await run(rt)
        counter.labels("ok").inc()
    except Exception:
        counter.labels("failed").inc()
        log.exception(failure)


def register_timers(app, rt: Runtime) -> None:
    @app.timer(interval=rt.settings.watchdog_interval_s)
    async def watchdog():
        await _counted(timers.watch_once, rt, metrics.WATCHDOG_RUNS, "watchdog_failed")

    @app.timer(interval=rt.settings.retention_interval_s)
    async def retention():
        await _counted(timers.prune_old_rows, rt, metrics.RETENTION_RUNS, "retention_failed")

    @app.timer(interval=rt.settings.travel_learning_interval_s)
    async def travel():
        await _counted(timers.learn_travel, rt, metrics.TRAVEL_LEARNING_RUNS, "travel_learning_failed")

    @app.timer(interval=rt.settings.board_interval_s)
    async def board():
        await _counted(timers.refresh_board, rt, metrics.BOARD_REFRESHES, "board_refresh_failed")

    recomputed = False

    @app.timer(interval=rt.settings.watchdog_interval_s)
    async def calendar_recompute():
        # Until it has succeeded once (the database may not answer yet when a worker starts).
        nonlocal recomputed
        if not recomputed:
            try:
                await timers.recompute_calendar(rt)
                recomputed = True
            except Exception:
                log.exception("calendar_recompute_failed")

    @app.timer(interval=monthly_report.CHECK_EVERY_S)
    async def monthly_report_check():
        try:
            await monthly_report.check(rt, rt.now())
        except Exception:  # counted by check; the next check tries again
            log.exception("monthly_report_failed")
