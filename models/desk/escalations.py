"""The life of an escalation: open → acknowledged (by whom, when) → resolved by a dispatcher's command, or
superseded when the system solved it (a surveyor assigned, the surveyor arrived); and how the desk's gauges
count the ones not yet closed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class EscalationState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    SUPERSEDED = "superseded"


UNCLOSED = frozenset({EscalationState.OPEN, EscalationState.ACKNOWLEDGED})

#: Age bands of the open-escalation gauge: (label, upper bound in seconds; None: open-ended).
AGE_BANDS: tuple[tuple[str, float | None], ...] = (
    ("under_3m", 180), ("3m_to_10m", 600), ("10m_to_30m", 1800), ("over_30m", None))


def age_band(age_s: float) -> str:
    for label, upper in AGE_BANDS:
        if upper is None or age_s < upper:
            return label
    raise AssertionError("the last band is open-ended")


@dataclass
class UnclosedFigures:
    """Unclosed escalations by (reason, state, age band), and the oldest unacknowledged one's age (0: none)."""

    counts: Counter = field(default_factory=Counter)
    oldest_unacknowledged_s: float = 0.0


def unclosed_figures(rows: list[tuple[str, str, float]]) -> UnclosedFigures:
    """From (reason, state, age in seconds) of each unclosed escalation."""
    out = UnclosedFigures()
    for reason, state, age in rows:
        out.counts[reason, state, age_band(age)] += 1
        if state == EscalationState.OPEN:
            out.oldest_unacknowledged_s = max(out.oldest_unacknowledged_s, age)
    return out
