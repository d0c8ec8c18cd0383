"""Business events for demos: policies issued and surrendered, complaints resolved, claims closed."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from models.contract.business_events import (ClaimClosed, ComplaintResolved, CustomerContact, CustomerType, PolicyIssued,
                                    PolicySurrendered, SalesChannel)
from streams.simulators.hotline import _GIVEN, _SURNAMES

_CHANNELS = [(SalesChannel.AGENT, 40), (SalesChannel.DIRECT, 20), (SalesChannel.BROKER, 10),
             (SalesChannel.DEALER, 15), (SalesChannel.BANCASSURANCE, 5), (SalesChannel.ONLINE, 10)]


def _customer(rng: random.Random) -> CustomerContact:
    return CustomerContact(customer_id=f"C{rng.randrange(10**8):08d}",
                           name=rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
                           phone="1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9)))


def business_event(rng: random.Random, now: datetime | None = None):
    """One business event, in a realistic mix: mostly new policies, then closures, surrenders, complaints."""
    now = now or datetime.now(timezone.utc)
    eid = uuid.UUID(int=rng.getrandbits(128), version=4)
    kind = rng.choices(["issued", "closed", "surrendered", "complaint"], weights=[60, 25, 8, 7])[0]
    who = _customer(rng)
    if kind in ("issued", "surrendered"):
        corporate = rng.random() < 0.2
        line = rng.choices(["motor", "property", "cargo"], weights=[70, 20, 10])[0]
        common = dict(event_id=eid, occurred_at=now, policy_no=f"P{rng.randrange(10**11):011d}", line_of_business=line,
                      sales_channel=rng.choices([c for c, _ in _CHANNELS], weights=[w for _, w in _CHANNELS])[0],
                      customer_type=CustomerType.CORPORATE if corporate else CustomerType.INDIVIDUAL, customer=who)
        if kind == "issued":
            return PolicyIssued(premium=Decimal(rng.randint(800, 9000)), effective_from=now, **common)
        return PolicySurrendered(reason=rng.choice(["sold the car", "cheaper elsewhere", "no longer needed"]),
                                 refund=Decimal(rng.randint(100, 3000)), **common)
    if kind == "complaint":
        return ComplaintResolved(event_id=eid, occurred_at=now, complaint_id=f"K{rng.randrange(10**8):08d}",
                                 customer=who, resolution="explained and compensated")
    return ClaimClosed(event_id=eid, occurred_at=now, claim_id=f"CL{rng.randrange(10**9):09d}",
                       report_id=f"RPT-{rng.randrange(10**7):07d}", policy_no=f"P{rng.randrange(10**11):011d}",
                       customer=who, paid_amount=Decimal(rng.randint(500, 40000)), paid_at=now)


def topic_of(event) -> tuple[str, str]:
    """The topic and key an event goes to."""
    if isinstance(event, (PolicyIssued, PolicySurrendered)):
        return "policy.events", event.policy_no
    if isinstance(event, ComplaintResolved):
        return "complaints.events", event.complaint_id
    return "claims.events", event.claim_id
