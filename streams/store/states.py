"""Task and claim states as SQL literals, written from the enums of ``models.dispatch.tasks`` (constants,
never input), so that a state's name lives in one place."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from models.dispatch.tasks import BEFORE_CONTACT, WITHDRAWN


def sql_list(states: Iterable[StrEnum]) -> str:
    """``('cancelled', 'declined')``: for ``status IN …`` in a statement's text."""
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(states)) + ")"


WITHDRAWN_SQL = sql_list(WITHDRAWN)
BEFORE_CONTACT_SQL = sql_list(BEFORE_CONTACT)
