"""Who gets a callback of a rate kind (underwriting ≥ 50%, closure ≥ 50%): adaptive and reproducible.

The rule, for each eligible event in a month, in the order events are decided:

    E  eligible events this month so far, this one included
    X  successful callbacks so far;  O  selected callbacks still open
    ρ  reach rate so far: successes / finished selected callbacks, smoothed
       towards a prior (0.7 over 20 pseudo-callbacks) while there is little data
    deficit  = (target + margin) × E − (X + ρ × O)      expected successes still missing
    p        = clamp(deficit / ρ, 0, 1)                  probability of selecting this event
    selected ⇔ h < p,  h = SHA-256(seed / kind / month / source event id) read as a number in [0, 1)

So selection follows the pace needed to end the month at target + margin: it
calls more when callbacks fail more, less when the month is ahead, and no more
than needed. Every decision stores E, X, O, ρ, p and h: an auditor recomputes h
from the event id and checks that the decision follows from p. 100% kinds skip
all this: every eligible event is selected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from models.contract.callback_events import CallbackKind
from models.callbacks.rules import CallbackRules


@dataclass(frozen=True)
class MonthToDate:
    eligible: int      # E, including the event being decided
    successes: int     # X
    open_selected: int  # O
    finished_selected: int


@dataclass(frozen=True)
class Selection:
    selected: bool
    probability: float
    hash_value: float
    reach_rate: float
    basis: dict


def sample_hash(seed: str, kind: CallbackKind, month: str, source_event_id: object) -> float:
    digest = hashlib.sha256(f"{seed}/{kind.value}/{month}/{source_event_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def select(kind: CallbackKind, month: str, source_event_id: object, mtd: MonthToDate,
           rules: CallbackRules) -> Selection:
    """Whether an eligible event gets a callback, and the figures the decision rests on."""
    kr = rules.kinds[kind]
    reach = (mtd.successes + rules.prior_reach_rate * rules.prior_weight) / (mtd.finished_selected + rules.prior_weight) \
        if (mtd.finished_selected + rules.prior_weight) > 0 else rules.prior_reach_rate
    reach = min(1.0, max(0.05, reach))
    h = sample_hash(rules.sampling_seed, kind, month, source_event_id)
    if not kr.sampled:
        probability = 1.0
    else:
        aim = min(1.0, kr.target + rules.sampling_margin)
        deficit = aim * mtd.eligible - (mtd.successes + reach * mtd.open_selected)
        probability = min(1.0, max(0.0, deficit / reach))
    basis = {"eligible": mtd.eligible, "successes": mtd.successes, "open_selected": mtd.open_selected,
             "finished_selected": mtd.finished_selected, "reach_rate": round(reach, 6),
             "target": kr.target, "margin": rules.sampling_margin, "rule": "all" if not kr.sampled else "paced"}
    return Selection(h < probability, probability, h, reach, basis)
