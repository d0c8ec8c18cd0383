"""What the dispatch board and the callback gauges show, worked out from the stored counts and the regions'
states: per region open tasks, waiting claims and available surveyors; per zone the deadline-met ratio; per
callback kind the month's figures."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from models.callbacks.rules import CallbackRules
from models.callbacks.schedule import month_of
from models.desk.escalations import UnclosedFigures, unclosed_figures
from models.dispatch.fleet import free_on_duty
from models.dispatch.region_state import RegionStateCache
from models.dispatch.rules import DispatchRules
from streams.store import callbacks_store, desk_store, watchdog_store


async def dispatch_gauges(pool: asyncpg.Pool, now: datetime, day_start: datetime, rules: DispatchRules,
                          cache: RegionStateCache | None = None) -> dict:
    """The board's figures. Regions' states come from ``cache`` where it holds the stored version: building
    every region's state from the database held the event loop 50-100 ms a pass."""
    counts = await watchdog_store.dispatch_counts(pool, now)
    rows = await watchdog_store.every_region(pool, day_start, cache)
    available = {rid: len(free_on_duty(r.states(now, rules)[0], now, rules)) for rid, r in rows.items()}
    return {"open_tasks": counts["open_tasks"], "pending": counts["pending"], "available": available,
            "deadline_met": {z: (m / d if d else None) for z, (m, d) in counts["met"].items()}}


async def callback_figures(pool: asyncpg.Pool, now: datetime, rules: CallbackRules) -> dict[str, dict]:
    """Per callback kind, the month to date (the month ``now`` falls in, in the callback centre's time zone):
    eligible, selected, successes, overdue, and the success and coverage ratios (successes and selected
    over eligible; None before anything is eligible)."""
    figures = await callbacks_store.month_figures(pool, month_of(now, rules))
    out = {}
    for kind in rules.kinds:
        f = dict(figures.get(kind.value, {}))
        eligible = f.get("eligible", 0)
        f["success_ratio"] = f.get("successes", 0) / eligible if eligible else None
        f["coverage_ratio"] = f.get("selected", 0) / eligible if eligible else None
        out[kind.value] = f
    return out


async def escalation_figures(pool: asyncpg.Pool, now: datetime) -> UnclosedFigures:
    """The desk's gauges: unclosed escalations by reason, state and age; the oldest unacknowledged one's age."""
    return unclosed_figures([(r["reason"], r["state"], float(r["age_s"]))
                             for r in await desk_store.escalation_ages(pool, now)])
