"""Task, claim and callback states as SQL literals, written from the enums in ``models`` (constants,
never input), so that a state's name lives in one place."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from models.callbacks.progress import CallbackState
from models.dispatch.tasks import BEFORE_CONTACT, WITHDRAWN


def sql_list(states: Iterable[StrEnum]) -> str:
    """``('cancelled', 'declined')``: for ``status IN …`` in a statement's text."""
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(states)) + ")"


WITHDRAWN_SQL = sql_list(WITHDRAWN)
#: ``'open'``: a callback task not yet ended.
CALLBACK_OPEN_SQL = f"'{CallbackState.OPEN.value}'"
BEFORE_CONTACT_SQL = sql_list(BEFORE_CONTACT)
#: ``models.dispatch.tasks.arrived_on_time`` for a query that counts over many tasks (the board's 24-hour
#: ratio), where fetching every row to judge it in Python would cost a pass far more than the count.
ON_TIME_SQL = "arrived_at <= deadline_at"
