"""What a minute of a surveyor's time is worth: nothing in a quiet hour, a share of a deadline in a storm.

While claims come into a region faster than its surveyors can serve them, every
minute a surveyor spends on one claim is a minute not spent on the next: a trip of
70 minutes to one far scene is two town claims not met. The planner prices a
surveyor's time by what the region's recent stream says is coming (the expected
value of the future reports, the simplest form of planning against sampled futures,
as Bent and Van Hentenryck do it for vehicle routing with the reports of the recent
past as the samples).

The arrival rate is read from the region's recent scenes: how many were reported in
the last ``window_minutes``, taken one standard deviation low (a Poisson count) so that
two calls in a quiet evening are not read as a storm. The region's capacity is its
surveyors on duty, one claim each per ``cycle`` (the expected time on scene plus a
typical drive). At or below capacity a surveyor-minute is worth nothing, and the plan
is what it is without this; from ``full_value_at`` times the capacity it is worth
``1 / cycle`` of a deadline (every minute freed serves the next claim); in between,
proportionally less (docs/dispatch.md, "Storms").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class StormRules(BaseModel):
    """When a region counts as overloaded, and what its surveyors' time is then worth."""

    model_config = ConfigDict(frozen=True)

    window_minutes: float = Field(
        default=10, gt=0,
        description="Reports of this many minutes back give the region's arrival rate (recent enough to see a "
                    "storm start and end within minutes).")
    typical_drive_minutes: float = Field(
        default=20, ge=0,
        description="A claim takes a surveyor the expected time on scene plus this much driving (a town trip "
                    "under the 30-minute limit).")
    full_value_at: float = Field(
        default=3.0, gt=1.0,
        description="Demand over capacity at which a surveyor-minute is worth a full 1/cycle of a deadline; from "
                    "capacity up to this it is worth proportionally less (part of the time freed would go unused).")
    late_defer_minutes: float = Field(
        default=60, ge=0,
        description="In a storm a claim already past its deadline waits while surveyors can still meet others' "
                    "deadlines, at most this long past its own (no claim starves behind new ones).")


@dataclass(frozen=True)
class Load:
    """A region's demand against its capacity, both in claims per minute, and the worth of a surveyor-minute in
    deadlines (0 unless overloaded)."""

    rate: float
    capacity: float
    minute_value: float

    @property
    def overloaded(self) -> bool:
        return self.minute_value > 0


def recent_rates(points: Iterable, window_minutes: float, now: datetime) -> dict:
    """Reports per minute over the last ``window_minutes``, by the zone of each point (anything with ``zone`` and
    ``reported_at``; a time not known is not counted)."""
    since, rates = now - timedelta(minutes=window_minutes), {}
    for p in points:
        if p.reported_at is not None and since < p.reported_at <= now:
            rates[p.zone] = rates.get(p.zone, 0.0) + 1.0 / window_minutes
    return rates


def region_load(reported: Iterable[datetime | None], on_duty: int, survey_minutes: float, rules: StormRules,
                now: datetime) -> Load:
    """The load of a region whose recent reports were made at ``reported`` (None: time unknown, not counted),
    with ``on_duty`` surveyors on duty, at ``now``."""
    since = now - timedelta(minutes=rules.window_minutes)
    n = sum(1 for t in reported if t is not None and since < t <= now)
    rate = max(0.0, n - math.sqrt(n)) / rules.window_minutes
    cycle = survey_minutes + rules.typical_drive_minutes
    if not on_duty:
        return Load(rate, 0.0, 0.0)
    capacity = on_duty / cycle
    excess = (rate / capacity - 1.0) / (rules.full_value_at - 1.0)
    return Load(rate, capacity, min(1.0, max(0.0, excess)) / cycle)
