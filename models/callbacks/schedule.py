"""When a callback is due, and when a call may be made (calling hours, spacing between attempts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.contract.callback_events import CallbackKind
from models.callbacks.rules import CallbackRules
from models.working_days import WorkingDays


@dataclass(frozen=True)
class Deadline:
    """A moment reckoned in working days; ``provisional`` when a year without a published schedule was counted
    (models/working_days.py): stored and published with that mark, and recomputed when the year is known."""

    at: datetime
    provisional: bool


def due_at(kind: CallbackKind, triggered_at: datetime, rules: CallbackRules, calendar: WorkingDays) -> Deadline:
    """The end of calling hours on the N-th working day after the trigger (the trigger day not counted)."""
    tz = ZoneInfo(rules.timezone)
    day = calendar.add_working_days(triggered_at.astimezone(tz).date(), rules.kinds[kind].due_working_days)
    return Deadline(datetime.combine(day.day, rules.calling_end, tz), day.provisional)


def expires_at(due: Deadline, rules: CallbackRules, calendar: WorkingDays) -> Deadline:
    """An open task ends as expired this many working days after its due date (provisional if the due date was)."""
    tz = ZoneInfo(rules.timezone)
    day = calendar.add_working_days(due.at.astimezone(tz).date(), rules.expire_after_working_days)
    return Deadline(datetime.combine(day.day, rules.calling_end, tz), due.provisional or day.provisional)


def within_calling_hours(moment: datetime, rules: CallbackRules) -> datetime:
    """``moment`` if calls are allowed then, else the next start of calling hours."""
    tz = ZoneInfo(rules.timezone)
    local = moment.astimezone(tz)
    if local.time() < rules.calling_start:
        return datetime.combine(local.date(), rules.calling_start, tz)
    if local.time() >= rules.calling_end:
        return datetime.combine(local.date() + timedelta(days=1), rules.calling_start, tz)
    return moment


def next_attempt_time(after: datetime, rules: CallbackRules, spaced: bool) -> datetime:
    """The earliest allowed time for the next call: spacing after the last attempt, inside calling hours."""
    earliest = after + timedelta(minutes=rules.attempt_spacing_minutes) if spaced else after
    return within_calling_hours(earliest, rules)


def month_of(moment: datetime, rules: CallbackRules) -> str:
    """The month (YYYY-MM, in the callback centre's time zone) a trigger counts towards: targets are monthly."""
    return moment.astimezone(ZoneInfo(rules.timezone)).strftime("%Y-%m")

