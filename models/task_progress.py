"""How a survey task moves when the surveyor's app reports progress.

Events may arrive twice or out of order: status only ever moves forward, and a
terminal task (completed, declined, cancelled) never changes again.
"""

from __future__ import annotations

TERMINAL_STATUSES = ("completed", "declined", "cancelled")
_RANK = {"assigned": 0, "accepted": 1, "contacted": 2, "arrived": 3, "completed": 4}
_TARGET = {
    "task_accepted": "accepted",
    "customer_contacted": "contacted",
    "arrived_at_scene": "arrived",
    "survey_completed": "completed",
}


def next_status(current: str, event_type: str) -> str | None:
    """The task's new status after ``event_type``, or None when the event changes no status."""
    if current in TERMINAL_STATUSES:
        return None
    if event_type == "task_declined":
        return "declined" if current in ("assigned", "accepted") else None
    target = _TARGET.get(event_type)
    if target is None:
        return None
    return target if _RANK[target] > _RANK[current] else None
