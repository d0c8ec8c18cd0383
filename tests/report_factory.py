"""A valid loss report as a dict, for tests at every level."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone


def report_dict(at=(30.3191, 120.1551), report_id: str | None = None, now: datetime | None = None, **overrides) -> dict:
    """A report of an accident of its own: its caller, policy and plates are drawn afresh each time, so that
    two reports made here are never taken for one accident reported twice (models/dispatch/duplicates.py)."""
    now = now or datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
    n = uuid.uuid4().int
    data = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": now.isoformat(),
        "schema_version": 1,
        "type": "loss_reported",
        "report_id": report_id or f"RPT-T-{uuid.uuid4().hex[:10]}",
        "channel": "phone",
        "reporter": {"name": "王偉", "phone": f"138{n % 10**8:08d}", "relation": "insured"},
        "insured": {"name": "王偉", "id_number": "330102199001011234"},
        "policy": {"number": f"P{(n >> 30) % 10**11:011d}", "line_of_business": "motor"},
        "loss_time": (now - timedelta(minutes=10)).isoformat(),
        "location": {"address": "West Lake Road 1", "lat": at[0], "lon": at[1]},
        "cause": "rear-end collision",
        "description": "",
        "loss_type": "vehicle",
        "injuries": {"count": 0, "severity": "none"},
        "police": {"involved": False},
        "original_scene": True,
        "vehicle_drivable": True,
        "insured_vehicle": {"plate": f"浙A{(n >> 70) % 10**5:05d}"},
        "third_party_vehicles": [{"plate": f"浙B{(n >> 90) % 10**5:05d}"}],
        "estimated_loss": "3500.00",
    }
    data.update(overrides)
    return data
